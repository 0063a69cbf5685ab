package dev.ephemera.jobfile;

import java.util.Objects;

/** {@code rust_toolchain}: a named channel, or {@code true} for the repository's file. */
public sealed interface RustToolchain permits RustToolchain.Channel, RustToolchain.FromRepository {

  /** {@code rust_toolchain = "1.80"}: that channel, default profile. */
  record Channel(String name) implements RustToolchain {
    public Channel {
      Objects.requireNonNull(name, "name");
    }
  }

  /** {@code rust_toolchain = true}: read {@code rust-toolchain.toml} from the repository. */
  record FromRepository() implements RustToolchain {}
}
