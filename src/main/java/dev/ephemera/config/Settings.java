package dev.ephemera.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tomlj.Toml;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlTable;

/**
 * Flat key/value settings merged from, lowest first: built-in defaults, a TOML config file, {@code EPHEMERA_*}
 * environment variables, command-line {@code --set key=value} flags. Keys look like {@code kafka.bootstrap}; the
 * environment form is {@code EPHEMERA_KAFKA_BOOTSTRAP} (dots and dashes become underscores). Loaded once, immutable.
 */
public final class Settings {
  private final Map<String, String> values;
  private final Map<String, String> origins;

  private Settings(Map<String, String> values, Map<String, String> origins) {
    this.values = Collections.unmodifiableMap(new TreeMap<>(values));
    this.origins = Collections.unmodifiableMap(new TreeMap<>(origins));
  }

  /** Merges the layers. Only keys present in {@code defaults} are accepted from the file and the flags. */
  public static Settings load(
      Map<String, String> defaults, Optional<Path> file, Map<String, String> env, Map<String, String> flags) {
    Map<String, String> values = new LinkedHashMap<>(defaults);
    Map<String, String> origins = new LinkedHashMap<>();
    defaults.keySet().forEach(k -> origins.put(k, "default"));
    if (file.isPresent()) {
      for (var entry : readToml(file.get()).entrySet()) {
        requireKnown(defaults, entry.getKey(), "config file " + file.get());
        values.put(entry.getKey(), entry.getValue());
        origins.put(entry.getKey(), "file");
      }
    }
    for (String key : defaults.keySet()) {
      String fromEnv = env.get(envName(key));
      if (fromEnv != null) {
        values.put(key, fromEnv);
        origins.put(key, "env " + envName(key));
      }
    }
    for (var entry : flags.entrySet()) {
      requireKnown(defaults, entry.getKey(), "--set");
      values.put(entry.getKey(), entry.getValue());
      origins.put(entry.getKey(), "flag");
    }
    return new Settings(values, origins);
  }

  /** {@code kafka.bootstrap} → {@code EPHEMERA_KAFKA_BOOTSTRAP}. */
  public static String envName(String key) {
    return "EPHEMERA_" + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  private static void requireKnown(Map<String, String> defaults, String key, String where) {
    if (!defaults.containsKey(key)) {
      throw new ConfigException("unknown setting '" + key + "' in " + where + "; known settings: " + defaults.keySet());
    }
  }

  private static Map<String, String> readToml(Path file) {
    TomlParseResult toml;
    try {
      toml = Toml.parse(Files.readString(file));
    } catch (IOException e) {
      throw new ConfigException("cannot read config file " + file + ": " + e.getMessage());
    }
    if (toml.hasErrors()) {
      throw new ConfigException("config file " + file + ": " + toml.errors().get(0));
    }
    Map<String, String> flat = new LinkedHashMap<>();
    flatten("", toml, flat);
    return flat;
  }

  private static void flatten(String prefix, TomlTable table, Map<String, String> out) {
    for (String key : table.keySet()) {
      Object value = table.get(List.of(key));
      String full = prefix.isEmpty() ? key : prefix + "." + key;
      if (value instanceof TomlTable nested) {
        flatten(full, nested, out);
      } else {
        out.put(full, String.valueOf(value));
      }
    }
  }

  public String get(String key) {
    String value = values.get(key);
    if (value == null) {
      throw new ConfigException("setting '" + key + "' is not defined");
    }
    return value;
  }

  public Optional<String> optional(String key) {
    return Optional.ofNullable(values.get(key)).filter(v -> !v.isBlank());
  }

  /** A required setting: a clear error naming the key and its environment variable when it is blank. */
  public String required(String key) {
    return optional(key)
        .orElseThrow(() -> new ConfigException("setting '" + key + "' is required (set " + envName(key) + ")"));
  }

  public int intValue(String key) {
    try {
      return Integer.parseInt(get(key).trim());
    } catch (NumberFormatException e) {
      throw new ConfigException("setting '" + key + "' must be an integer, got '" + get(key) + "'");
    }
  }

  public long longValue(String key) {
    try {
      return Long.parseLong(get(key).trim());
    } catch (NumberFormatException e) {
      throw new ConfigException("setting '" + key + "' must be an integer, got '" + get(key) + "'");
    }
  }

  public boolean boolValue(String key) {
    String v = get(key).trim().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "true", "yes", "1", "on" -> true;
      case "false", "no", "0", "off" -> false;
      default -> throw new ConfigException("setting '" + key + "' must be true or false, got '" + get(key) + "'");
    };
  }

  /** A size in bytes ({@link #parseSize}); errors name the key. */
  public long size(String key) {
    try {
      return parseSize(get(key));
    } catch (IllegalArgumentException e) {
      throw new ConfigException("setting '" + key + "': " + e.getMessage());
    }
  }

  private static final Pattern SIZE =
      Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([KMGT]i?B?|B)?", Pattern.CASE_INSENSITIVE);

  /** {@code 20GiB}, {@code 20G}, {@code 512MiB}, {@code 1073741824}: binary units (GB is read as GiB too). */
  public static long parseSize(String text) {
    Matcher m = SIZE.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("not a size: " + text + " (say 20GiB, 512MiB or a number of bytes)");
    }
    double n = Double.parseDouble(m.group(1));
    String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
    long factor =
        switch (unit.charAt(0)) {
          case 'K' -> 1L << 10;
          case 'M' -> 1L << 20;
          case 'G' -> 1L << 30;
          case 'T' -> 1L << 40;
          default -> 1L;
        };
    long bytes = (long) (n * factor);
    if (bytes <= 0) {
      throw new IllegalArgumentException("must be positive: " + text);
    }
    return bytes;
  }

  /** Durations as {@code 250ms}, {@code 30s}, {@code 5m}, {@code 24h}, {@code 30d} or ISO-8601 ({@code PT1H}). */
  public Duration duration(String key) {
    return parseDuration(key, get(key));
  }

  public static Duration parseDuration(String key, String text) {
    String v = text.trim().toLowerCase(Locale.ROOT);
    try {
      if (v.startsWith("p")) {
        return Duration.parse(v.toUpperCase(Locale.ROOT));
      }
      if (v.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
      }
      long n = Long.parseLong(v.substring(0, v.length() - 1));
      return switch (v.charAt(v.length() - 1)) {
        case 's' -> Duration.ofSeconds(n);
        case 'm' -> Duration.ofMinutes(n);
        case 'h' -> Duration.ofHours(n);
        case 'd' -> Duration.ofDays(n);
        default -> throw new NumberFormatException();
      };
    } catch (RuntimeException e) {
      throw new ConfigException(
          "setting '" + key + "' must be a duration like 250ms, 30s, 5m, 24h, 30d or PT1H, got '" + text + "'");
    }
  }

  /** Where each value came from, for {@code ephemera worker --print-config}; secrets masked by the caller. */
  public Map<String, String> origins() {
    return origins;
  }

  public Map<String, String> asMap() {
    return values;
  }
}
