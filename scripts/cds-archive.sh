#!/usr/bin/env bash
# Class-data sharing for job-side commands: records the classes `ephemera selftest` loads (the same selection, persist
# pipeline, manifest and restore code a job's persist and restore run) into target/ephemera.jsa, which bin/ephemera
# then maps at start instead of loading and verifying those classes from the jar (about 0.1-0.15 s of every command).
# The archive belongs to this jar and this JVM build: bin/ephemera uses it only while it is newer than the jar, and a
# JVM that cannot use it ignores it. Never fails the build: without an archive the CLI starts as before.
set -uo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
jar=target/ephemera.jar
jsa=target/ephemera.jsa
rm -f "$jsa"
[ -f "$jar" ] || { echo "cds-archive: $jar is missing" >&2; exit 0; }
opts="-XX:+UseParallelGC -Xshare:auto"
[ "$(uname -sm)" = "Linux x86_64" ] && opts="$opts -XX:TieredStopAtLevel=1 -Dephemera.jit=c1"
quiet="-Xlog:cds=off -Xlog:cds+dynamic=off"
if ! java $opts -XX:ArchiveClassesAtExit="$jsa" $quiet -jar "$jar" selftest >/dev/null; then
  echo "cds-archive: selftest failed; no class-data sharing archive (the CLI still works, it starts slower)" >&2
  rm -f "$jsa"
fi
exit 0
