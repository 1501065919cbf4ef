#!/usr/bin/env bash
# System packages the tests need: Debian's chromium (browser stories), PostgreSQL server binaries
# (throwaway cluster for the PostgreSQL variant of the DB tests) and OpenStack Swift + memcached
# (throwaway S3-compatible object store through Swift's s3api, tests/helpers/swift.ts). Installs them
# when running as root; otherwise says exactly what to install.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
for kind in proxy object container account; do
  [ -x /usr/bin/swift-$kind-server ] || missing+=(swift-$kind)
done
command -v memcached >/dev/null 2>&1 || missing+=(memcached)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing system packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
