package dev.ephemera.testing;

import java.net.URI;

/** Where a test finds a real S3 API (path-style addressing). */
public record S3Endpoint(URI endpoint, String region, String accessKey, String secretKey) {}
