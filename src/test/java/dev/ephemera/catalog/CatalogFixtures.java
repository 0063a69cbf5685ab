package dev.ephemera.catalog;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** Rows for catalog tests; every id is unique within the JVM so tests sharing a database never collide. */
final class CatalogFixtures {
  private static final AtomicLong SEQUENCE = new AtomicLong();

  /** A fixed instant at microsecond precision (what Postgres keeps), so round trips compare equal. */
  static final Instant T0 = Instant.parse("2026-11-25T12:00:00.123456Z");

  private CatalogFixtures() {}

  /** A unique ULID-shaped id (26 chars, sortable by creation order within the test run). */
  static String id() {
    return String.format("01JTEST%019d", SEQUENCE.incrementAndGet());
  }

  static String owner() {
    return "gong-" + SEQUENCE.incrementAndGet();
  }

  static Instant at(long seconds) {
    return T0.plus(seconds, ChronoUnit.SECONDS);
  }

  /** The hex sha256 of {@code seed}. */
  static String sha(String seed) {
    try {
      byte[] digest =
          java.security.MessageDigest.getInstance("SHA-256")
              .digest(seed.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return java.util.HexFormat.of().formatHex(digest);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  static JobRow job(String jobId, String owner) {
    return new JobRow(
        jobId,
        owner,
        "oxidecomputer",
        "omicron",
        4242L,
        "0123456789abcdef0123456789abcdef01234567",
        "feature",
        "push",
        null,
        false,
        "main",
        "helios-2.0",
        "build-and-test",
        "[{\"name\": \"cargo-registry\", \"rules\": [\"/home/build/.cargo/registry/**/*\"], \"when\": \"success\"}]",
        "branch:feature",
        List.of("branch:feature", "branch:main"),
        T0,
        null,
        null);
  }

  /** A pending set of {@code chunks} chunks of 100 bytes each, chunk hashes derived from {@code chunkSeed}. */
  static PendingSet pendingSet(String owner, String name, String scope, String jobId, String chunkSeed, int chunks) {
    List<ChunkRefRow> refs = new ArrayList<>();
    for (int i = 0; i < chunks; i++) {
      refs.add(new ChunkRefRow(i, sha(chunkSeed + "/" + i), 100L * i, 100, 60));
    }
    SetRow set =
        SetRow.pending(
            id(),
            owner,
            name,
            scope,
            jobId,
            T0,
            "/home/build/.cargo/registry",
            "success",
            sha("tar/" + chunkSeed),
            100L * chunks,
            sha("zst/" + chunkSeed),
            60L * chunks,
            3,
            chunks,
            "{\"files\": [{\"path\": \"a\", \"size\": 1}]}");
    return new PendingSet(set, refs);
  }

  static PendingSet pendingSet(String owner, String name, String scope) {
    return pendingSet(owner, name, scope, id(), id(), 2);
  }

  record PendingSet(SetRow set, List<ChunkRefRow> chunks) {
    String setId() {
      return set.setId();
    }
  }
}
