package dev.ephemera.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** What the admin commands accept before they reach the network. */
class AdminParsingTest {

  @Test
  void sizesAreBinaryUnitsOrBytes() {
    assertThat(dev.ephemera.config.Settings.parseSize("20GiB")).isEqualTo(20L << 30);
    assertThat(dev.ephemera.config.Settings.parseSize("20G")).isEqualTo(20L << 30);
    assertThat(dev.ephemera.config.Settings.parseSize("512 MiB")).isEqualTo(512L << 20);
    assertThat(dev.ephemera.config.Settings.parseSize("1.5KiB")).isEqualTo(1536);
    assertThat(dev.ephemera.config.Settings.parseSize("1073741824")).isEqualTo(1L << 30);
    assertThatThrownBy(() -> dev.ephemera.config.Settings.parseSize("lots")).hasMessageContaining("not a size");
    assertThatThrownBy(() -> dev.ephemera.config.Settings.parseSize("0")).hasMessageContaining("must be positive");
  }

  @Test
  void timesAreRfc3339OrADateAtMidnightUtc() {
    assertThat(AdminInvalidate.time("--from", "2026-11-20T10:00:00Z")).isEqualTo(Instant.parse("2026-11-20T10:00:00Z"));
    assertThat(AdminInvalidate.time("--from", "2026-11-20T12:00:00+02:00"))
        .isEqualTo(Instant.parse("2026-11-20T10:00:00Z"));
    assertThat(AdminInvalidate.time("--from", "2026-11-20")).isEqualTo(Instant.parse("2026-11-20T00:00:00Z"));
    assertThat(AdminInvalidate.time("--from", null)).isNull();
    assertThatThrownBy(() -> AdminInvalidate.time("--to", "yesterday")).hasMessageStartingWith("--to: not a time");
  }

  @Test
  void usageErrorsExit64BeforeAnythingIsSent() {
    assertThat(run("admin", "invalidate", "--owner", "gong-1")).isEqualTo(Main.USAGE); // no --reason
    assertThat(run("admin", "invalidate", "--owner", "gong-1", "--reason", "x", "--scope", "main"))
        .isEqualTo(Main.USAGE);
    assertThat(run("admin", "invalidate", "--owner", "gong-1", "--reason", "x", "--from", "2026-11-21",
        "--to", "2026-11-20")).isEqualTo(Main.USAGE);
    assertThat(run("admin", "replay", "--from", "2026-11-20")).isEqualTo(Main.USAGE); // no --invalidate
    assertThat(run("admin", "replay", "--from", "2026-11-20", "--to", "2026-11-19", "--invalidate"))
        .isEqualTo(Main.USAGE);
    assertThat(run("admin", "policy", "set", "gong-1", "--url", "http://127.0.0.1:1", "--admin-token",
        "x".repeat(16))).isEqualTo(Main.USAGE); // nothing to set
    assertThat(run("admin", "policy", "set", "gong-1", "--idle", "36h", "--url", "http://127.0.0.1:1",
        "--admin-token", "x".repeat(16))).isEqualTo(Main.USAGE);
  }

  private static int run(String... args) {
    return Main.run(args, new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()), java.util.Map.of());
  }
}
