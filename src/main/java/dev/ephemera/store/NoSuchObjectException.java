package dev.ephemera.store;

/**
 * Thrown when an object is read that the store does not hold. Permanent: retrying the same read
 * gives the same answer until someone puts the object.
 */
public final class NoSuchObjectException extends ObjectStoreException {

  private static final long serialVersionUID = 1L;

  private final String key;

  public NoSuchObjectException(String key, String where) {
    super("no object " + key + " in " + where, false);
    this.key = key;
  }

  public NoSuchObjectException(String key, String where, Throwable cause) {
    super("no object " + key + " in " + where, false, cause);
    this.key = key;
  }

  /** The key that was asked for, as given to the store. */
  public String key() {
    return key;
  }
}
