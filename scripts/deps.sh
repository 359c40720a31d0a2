#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages ingot builds with, when any is missing.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libzstd-dev libxxhash-dev libcjson-dev libarchive-dev
      libutf8proc-dev libpcre2-dev zstd)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "ingot: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
