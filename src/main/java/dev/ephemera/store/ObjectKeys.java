package dev.ephemera.store;

import java.util.regex.Pattern;

/**
 * Validation of object keys and list prefixes, shared by every {@link ObjectStore} so that a key
 * accepted by one implementation is accepted by all.
 *
 * <p>A key is a relative, slash-separated path such as {@code chunks/<64 hex>} or {@code
 * manifests/<ULID>.json}: characters {@code [A-Za-z0-9._-]} in components separated by single
 * {@code /}, no leading or trailing slash, no empty, {@code .} or {@code ..} component. The narrow
 * alphabet is what keeps a key safe as a file path under a local root and as an S3 key without
 * escaping, and leaves characters such as {@code ~} free for a store's own temporary names.
 */
public final class ObjectKeys {

  /** S3 allows 1024 bytes; leave room for a configured bucket prefix. */
  public static final int MAX_KEY_LENGTH = 512;

  /** Most file systems cap one name at 255 bytes. */
  public static final int MAX_COMPONENT_LENGTH = 255;

  private static final Pattern KEY_CHARS = Pattern.compile("[A-Za-z0-9._/-]*");

  private ObjectKeys() {}

  /**
   * Returns {@code key} if it is a valid key.
   *
   * @throws IllegalArgumentException naming the key and what is wrong with it
   */
  public static String requireValidKey(String key) {
    if (key == null) {
      throw new IllegalArgumentException("object key must not be null");
    }
    if (key.isEmpty()) {
      throw new IllegalArgumentException("object key must not be empty");
    }
    checkPath(key, "object key", false);
    return key;
  }

  /**
   * Returns {@code prefix} if it is a valid list prefix: empty (everything), or the start of a
   * valid key, possibly ending with {@code /} or in the middle of a component ({@code chunks/ab}).
   *
   * @throws IllegalArgumentException naming the prefix and what is wrong with it
   */
  public static String requireValidPrefix(String prefix) {
    if (prefix == null) {
      throw new IllegalArgumentException("list prefix must not be null");
    }
    if (prefix.isEmpty()) {
      return prefix;
    }
    checkPath(
        prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix,
        "list prefix",
        true);
    return prefix;
  }

  /** Whether {@code key} is a valid key; for skipping foreign or temporary names while listing. */
  public static boolean isValidKey(String key) {
    try {
      requireValidKey(key);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static void checkPath(String path, String what, boolean prefix) {
    if (path.length() > MAX_KEY_LENGTH) {
      throw new IllegalArgumentException(
          what + " is longer than " + MAX_KEY_LENGTH + " characters: " + abbreviate(path));
    }
    if (!KEY_CHARS.matcher(path).matches()) {
      throw new IllegalArgumentException(
          what + " may contain only A-Z a-z 0-9 . _ - and /: " + abbreviate(path));
    }
    if (path.startsWith("/")) {
      throw new IllegalArgumentException(what + " must be relative (no leading /): " + path);
    }
    if (path.isEmpty() && prefix) {
      // the prefix was just "/"
      throw new IllegalArgumentException(what + " must be relative (no leading /): /");
    }
    // split with limit -1 keeps trailing empty strings, so "a/" and "a//b" show an empty component
    for (String component : path.split("/", -1)) {
      if (component.isEmpty()) {
        throw new IllegalArgumentException(what + " has an empty path component: " + path);
      }
      if (component.equals(".") || component.equals("..")) {
        throw new IllegalArgumentException(
            what + " must not contain a '" + component + "' component: " + path);
      }
      if (component.length() > MAX_COMPONENT_LENGTH) {
        throw new IllegalArgumentException(
            what
                + " has a component longer than "
                + MAX_COMPONENT_LENGTH
                + " characters: "
                + abbreviate(path));
      }
    }
  }

  private static String abbreviate(String s) {
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }
}
