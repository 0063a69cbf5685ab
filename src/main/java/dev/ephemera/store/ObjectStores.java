package dev.ephemera.store;

import dev.ephemera.config.EphemeraConfig;

/**
 * Builds the configured {@link ObjectStore}; does no I/O (call {@link ObjectStore#check()} for
 * that).
 */
public final class ObjectStores {

  private ObjectStores() {}

  /**
   * A {@link LocalDirectoryStore} for {@code store.kind = local}, an {@link S3ObjectStore} for
   * {@code s3}. An S3 prefix without a trailing {@code /} gets one ({@code ci} means {@code ci/}).
   *
   * @throws IllegalArgumentException naming the setting when a value cannot be used
   */
  public static ObjectStore fromConfig(EphemeraConfig.Store store) {
    return switch (store.kind()) {
      case "local" -> new LocalDirectoryStore(store.dir());
      case "s3" -> new S3ObjectStore(s3Config(store));
      default ->
          throw new IllegalArgumentException(
              "setting 'store.kind' must be 'local' or 's3', got '" + store.kind() + "'");
    };
  }

  static S3Config s3Config(EphemeraConfig.Store store) {
    String prefix = store.s3Prefix() == null ? "" : store.s3Prefix().trim();
    if (!prefix.isEmpty() && !prefix.endsWith("/")) {
      prefix = prefix + "/";
    }
    try {
      return new S3Config(
          store.s3Endpoint().orElse(null),
          store.s3Region(),
          store.s3Bucket(),
          prefix,
          store.s3PathStyle(),
          store.s3AccessKey().orElse(null),
          store.s3SecretKey().orElse(null));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("S3 store settings (s3.*): " + e.getMessage(), e);
    }
  }
}
