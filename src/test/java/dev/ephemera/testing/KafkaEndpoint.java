package dev.ephemera.testing;

/** Where a test finds a real Kafka broker. */
public record KafkaEndpoint(String bootstrapServers) {}
