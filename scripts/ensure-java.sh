#!/usr/bin/env bash
# Make sure a Java 17+ runtime is on PATH for the Spark tests (Spark local mode runs in a JVM):
# if none is found, install Debian's default headless JRE (as root, with apt-get).
set -euo pipefail

java_major() {
  local java=java
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then java="$JAVA_HOME/bin/java"; fi
  command -v "$java" >/dev/null 2>&1 || return 1
  # `openjdk version "17.0.15" 2025-04-15` -> 17 (and `"1.8.0_392"` -> 1, too old all the same)
  "$java" -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print v[1]; exit }'
}

major=$(java_major || true)
if [ -n "$major" ] && [ "$major" -ge 17 ]; then exit 0; fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Java 17+ not found (${major:-none}); installing Debian's default-jre-headless" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null
  major=$(java_major || true)
  if [ -n "$major" ] && [ "$major" -ge 17 ]; then exit 0; fi
fi
echo "Java 17+ is needed for the Spark tests (set JAVA_HOME or put java on PATH)" >&2
exit 1
