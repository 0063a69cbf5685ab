package dev.ephemera.testing;

/** Where a test finds a real PostgreSQL database. */
public record PostgresEndpoint(String jdbcUrl, String user, String password) {}
