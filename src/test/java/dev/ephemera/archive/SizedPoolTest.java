package dev.ephemera.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class SizedPoolTest {
  private static final int MIB = 1 << 20;

  @Test
  void newArraysAreRoundedUpToTheGranuleAndNeverSmallerThanAsked() {
    SizedPool<byte[]> pool = SizedPool.arrays(4, MIB);
    assertThat(pool.take(1).length).isEqualTo(MIB);
    assertThat(pool.take(MIB).length).isEqualTo(MIB);
    assertThat(pool.take(MIB + 1).length).isEqualTo(2 * MIB);
    assertThat(pool.take(3 * MIB + 5).length).isEqualTo(4 * MIB);
    assertThat(pool.take(0).length).isZero();
  }

  @Test
  void takeHandsOutTheSmallestSpareThatFits() {
    SizedPool<byte[]> pool = SizedPool.arrays(4, MIB);
    byte[] one = new byte[MIB];
    byte[] two = new byte[2 * MIB];
    byte[] four = new byte[4 * MIB];
    pool.give(four);
    pool.give(one);
    pool.give(two);

    assertThat(pool.take(MIB + 10)).isSameAs(two); // not four, the first one given
    assertThat(pool.take(100)).isSameAs(one);
    assertThat(pool.take(3 * MIB)).isSameAs(four);
    assertThat(pool.spares()).isZero();
    byte[] fresh = pool.take(100);
    assertThat(fresh).isNotSameAs(one).isNotSameAs(two).isNotSameAs(four);
  }

  @Test
  void aSpareTooSmallForEveryRequestStaysForALaterOneInsteadOfBeingDropped() {
    SizedPool<byte[]> pool = SizedPool.arrays(2, MIB);
    byte[] small = new byte[MIB];
    pool.give(small);

    byte[] big = pool.take(3 * MIB);
    assertThat(big.length).isEqualTo(3 * MIB);
    assertThat(pool.spares()).isEqualTo(1);
    assertThat(pool.take(MIB / 2)).isSameAs(small);
  }

  @Test
  void aFullPoolKeepsItsLargestSpares() {
    SizedPool<byte[]> pool = SizedPool.arrays(2, MIB);
    byte[] one = new byte[MIB];
    byte[] two = new byte[2 * MIB];
    byte[] three = new byte[3 * MIB];
    byte[] half = new byte[MIB / 2];
    pool.give(one);
    pool.give(three);
    pool.give(two); // replaces one, the smallest
    pool.give(half); // smaller than both: dropped

    assertThat(pool.spares()).isEqualTo(2);
    assertThat(pool.take(1)).isSameAs(two);
    assertThat(pool.take(1)).isSameAs(three);
    assertThat(pool.spares()).isZero();
  }

  @Test
  void directBuffersComeBackClearedAndOutsideTheHeap() {
    SizedPool<java.nio.ByteBuffer> pool = SizedPool.direct(2, MIB);
    java.nio.ByteBuffer b = pool.take(MIB + 1);
    assertThat(b.isDirect()).isTrue();
    assertThat(b.capacity()).isEqualTo(2 * MIB);
    b.position(10).limit(20);
    pool.give(b);

    java.nio.ByteBuffer again = pool.take(5);
    assertThat(again).isSameAs(b);
    assertThat(again.position()).isZero();
    assertThat(again.limit()).isEqualTo(2 * MIB);
  }

  @Test
  void aPoolOfNoSparesKeepsNothing() {
    SizedPool<byte[]> pool = SizedPool.arrays(0, MIB);
    pool.give(new byte[MIB]);
    assertThat(pool.spares()).isZero();
    assertThatThrownBy(() -> SizedPool.arrays(1, 3)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SizedPool.arrays(-1, MIB)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void underConcurrentUseNoArrayIsHandedToTwoHoldersAtOnce() throws Exception {
    SizedPool<byte[]> pool = SizedPool.arrays(8, 1 << 12);
    Set<byte[]> held = ConcurrentHashMap.newKeySet();
    ExecutorService threads = Executors.newFixedThreadPool(4);
    try {
      List<Future<Integer>> results = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int seed = t;
        results.add(threads.submit(() -> {
          Random random = new Random(seed);
          int overlaps = 0;
          for (int i = 0; i < 20_000; i++) {
            int size = 1 + random.nextInt(5 << 12);
            byte[] b = pool.take(size);
            if (b.length < size || !held.add(b)) {
              overlaps++;
            }
            held.remove(b);
            pool.give(b);
          }
          return overlaps;
        }));
      }
      for (Future<Integer> r : results) {
        assertThat(r.get()).isZero();
      }
    } finally {
      threads.shutdownNow();
    }
    assertThat(pool.spares()).isBetween(1, 8);
  }
}
