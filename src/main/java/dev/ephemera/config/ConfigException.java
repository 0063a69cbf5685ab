package dev.ephemera.config;

/** A configuration error a person must fix; the message names the setting and what is expected. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }
}
