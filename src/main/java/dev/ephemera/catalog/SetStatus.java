package dev.ephemera.catalog;

import java.util.Locale;

/**
 * Lifecycle of a set. Stored in lower case ({@link #db()}).
 *
 * <pre>
 *   PENDING ──job succeeded (or when = always)──▶ LIVE ──a newer set became head──▶ SUPERSEDED
 *    │  │                                         │                                  │
 *    │  └──job succeeded, but older than the head─┼─────────────────────────────────▶│
 *    │                                            ▼                                  ▼
 *    └──job failed or cancelled──▶ DISCARDED     INVALIDATED, EVICTED ◀──────────────┘
 * </pre>
 *
 * Invalidating the set a head points to makes the newest {@code SUPERSEDED} set of that key {@code LIVE} again (or
 * removes the head). A pending set can be invalidated too.
 *
 * At most one set per (owner, name, scope) is {@code LIVE}: the one its head points to.
 */
public enum SetStatus {
  PENDING, LIVE, SUPERSEDED, INVALIDATED, EVICTED, DISCARDED;

  /** The value stored in {@code sets.status}. */
  public String db() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a {@code sets.status} value. */
  public static SetStatus fromDb(String value) {
    return valueOf(value.toUpperCase(Locale.ROOT));
  }
}
