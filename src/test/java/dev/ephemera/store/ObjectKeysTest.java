package dev.ephemera.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ObjectKeysTest {

  @ParameterizedTest
  @ValueSource(
      strings = {
        "chunks/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "manifests/01JDQ3ZV7Y5K8N2M4P6R8T0W2X.json",
        "a",
        "a-b_c.d/e",
        ".hidden",
        "a..b",
        "..."
      })
  void keysOfTheAllowedShapeAreAccepted(String key) {
    assertThat(ObjectKeys.requireValidKey(key)).isEqualTo(key);
    assertThat(ObjectKeys.isValidKey(key)).isTrue();
  }

  @Test
  void eachKindOfBadKeyIsRejectedWithAMessageSayingWhy() {
    assertThatThrownBy(() -> ObjectKeys.requireValidKey(null)).hasMessageContaining("null");
    assertThatThrownBy(() -> ObjectKeys.requireValidKey("")).hasMessageContaining("empty");
    assertThatThrownBy(() -> ObjectKeys.requireValidKey("/chunks/a"))
        .hasMessageContaining("leading /");
    assertThatThrownBy(() -> ObjectKeys.requireValidKey("chunks/../etc"))
        .hasMessageContaining("'..'");
    assertThatThrownBy(() -> ObjectKeys.requireValidKey("./a")).hasMessageContaining("'.'");
    assertThatThrownBy(() -> ObjectKeys.requireValidKey("a//b"))
        .hasMessageContaining("empty path component");
    assertThatThrownBy(() -> ObjectKeys.requireValidKey("a/"))
        .hasMessageContaining("empty path component");
    assertThatThrownBy(() -> ObjectKeys.requireValidKey("a b"))
        .hasMessageContaining("may contain only");
    assertThatThrownBy(() -> ObjectKeys.requireValidKey("a".repeat(513)))
        .hasMessageContaining("longer than 512");
    assertThatThrownBy(() -> ObjectKeys.requireValidKey("a".repeat(256)))
        .hasMessageContaining("component longer than 255");
    assertThat(ObjectKeys.isValidKey("a~tmp")).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "chunks/", "chunks", "chunks/ab", "manifests/01J"})
  void listPrefixesMayEndInASlashOrMidComponent(String prefix) {
    assertThat(ObjectKeys.requireValidPrefix(prefix)).isEqualTo(prefix);
  }

  @ParameterizedTest
  @ValueSource(strings = {"/", "/chunks/", "a//", "../", "a/../", "a b"})
  void badListPrefixesAreRejected(String prefix) {
    assertThatThrownBy(() -> ObjectKeys.requireValidPrefix(prefix))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
