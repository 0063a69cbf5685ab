#!/usr/bin/env bash
# make bench: Ephemera's persist and restore vs tar | zstd + plain HTTP PUT/GET, against the same S3 API on loopback.
# Arguments go to dev.ephemera.dev.bench.ArchiveBenchmark (--tree DIR, --small DIR|npm|generate, --work DIR,
# --repeat N, --only real|small, --jfr, --warmups N, --no-warmup). Results: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
for tool in tar zstd curl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 2; }
done
[ -f target/ephemera.jar ] || ${MVN:-mvn -B} -q -DskipTests package
${MVN:-mvn -B} -q -DskipTests test-compile dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/dev-classpath.txt
export LC_ALL=C.UTF-8
exec java -Xmx1g -XX:+UseParallelGC ${BENCH_JAVA_OPTS:-} -cp "target/test-classes:target/classes:$(cat target/dev-classpath.txt)" \
  dev.ephemera.dev.bench.ArchiveBenchmark "$@"
