package dev.ephemera.catalog;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * An event waiting to be (or already) published to Kafka ({@code outbox} table).
 *
 * @param seq     publication order
 * @param key     the Kafka record key, may be null
 * @param headers Kafka headers (e.g. {@code content-type}), never null
 */
public record OutboxRow(long seq, String eventId, String topic, String key, byte[] payload,
            Map<String, String> headers, Instant createdAt, Instant publishedAt) {
  public OutboxRow {
    Objects.requireNonNull(eventId, "eventId");
    Objects.requireNonNull(topic, "topic");
    Objects.requireNonNull(payload, "payload");
    Objects.requireNonNull(createdAt, "createdAt");
    headers = headers == null ? Map.of() : Map.copyOf(headers);
  }
}
