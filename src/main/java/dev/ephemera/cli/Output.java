package dev.ephemera.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ephemera.event.EventCodec;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Map;

/** How commands print: a human line (stdout), or one JSON object with {@code --json}; notes go to stderr. */
final class Output {
  private static final ObjectMapper JSON = EventCodec.newMapper();

  private Output() {}

  static void result(PrintWriter out, boolean json, String human, Map<String, Object> machine) {
    if (json) {
      try {
        out.println(JSON.writeValueAsString(machine));
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    } else {
      out.println(human);
    }
    out.flush();
  }

  static String bytes(long n) {
    return dev.ephemera.api.AdminApi.size(n);
  }


  static String seconds(long nanos) {
    return String.format(Locale.ROOT, "%.2f s", nanos / 1e9);
  }

  static double secondsValue(long nanos) {
    return Math.round(nanos / 1e6) / 1e3;
  }
}
