package dev.ephemera.event;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;

/**
 * A record on {@code ephemera.dlq}: a consumed message that could not be applied, with where it came
 * from and why (schema {@code schemas/dlq.schema.json}; not a CloudEvent, because the original may not be
 * one). Encoded and decoded by {@link EventCodec#encode(DeadLetter)} and
 * {@link EventCodec#decodeDeadLetter(byte[])}.
 *
 * @param key nullable: the original record key as UTF-8 text
 * @param valueBase64 the original value bytes, base64; at most {@link #MAX_VALUE_BYTES} of them
 * @param valueSize the original value's length; larger than the decoded {@code valueBase64} when cut
 * @param eventId nullable: the original's {@code id}, when it had one
 * @param eventType nullable: the original's {@code type}, when it had one
 */
public record DeadLetter(
    String topic,
    int partition,
    long offset,
    String key,
    String valueBase64,
    long valueSize,
    String reason,
    Instant failedAt,
    String eventId,
    String eventType) {

  /**
   * Most original bytes a dead letter keeps: oversized messages are a reason to dead-letter, and a
   * copy must still fit Kafka's default 1 MiB message limit after base64 (4/3) and the envelope.
   */
  public static final int MAX_VALUE_BYTES = 512 * 1024;

  public DeadLetter {
    Check.text(topic, "topic");
    Check.nonNegative(partition, "partition");
    Check.nonNegative(offset, "offset");
    Check.present(valueBase64, "value_base64");
    try {
      Base64.getDecoder().decode(valueBase64);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("value_base64: not base64: " + e.getMessage(), e);
    }
    Check.nonNegative(valueSize, "value_size");
    Check.text(reason, "reason");
    Check.present(failedAt, "failed_at");
  }

  /**
   * A dead letter for the record at {@code topic}/{@code partition}/{@code offset}; keeps the first
   * {@link #MAX_VALUE_BYTES} bytes of {@code value}.
   *
   * @param key nullable; decoded as UTF-8 (Ephemera's keys are owners and job ids)
   * @param value nullable (a tombstone) is kept as empty
   */
  public static DeadLetter of(
      String topic, int partition, long offset, byte[] key, byte[] value, String reason, Instant failedAt,
      String eventId, String eventType) {
    byte[] original = value == null ? new byte[0] : value;
    byte[] kept = original.length > MAX_VALUE_BYTES ? Arrays.copyOf(original, MAX_VALUE_BYTES) : original;
    return new DeadLetter(topic, partition, offset,
        key == null ? null : new String(key, StandardCharsets.UTF_8),
        Base64.getEncoder().encodeToString(kept), original.length, reason, failedAt, eventId, eventType);
  }

  /** The kept original value bytes. */
  public byte[] value() {
    return Base64.getDecoder().decode(valueBase64);
  }

  /** True when the original value was longer than what this dead letter kept. */
  public boolean truncated() {
    return value().length < valueSize;
  }
}
