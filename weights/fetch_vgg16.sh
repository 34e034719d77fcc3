#!/usr/bin/env bash
# Downloads Keras' official VGG16 "notop" weights (58 MB) for nst and checks
# their MD5 before installing them: the file lands at its destination only
# whole and verified (downloaded to a temp file beside it, then renamed).
set -euo pipefail

readonly NAME=vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5
readonly SIZE=58889256
# Overridable so the script can be tested offline against a local file.
readonly URL="${NST_WEIGHTS_URL:-https://storage.googleapis.com/tensorflow/keras-applications/vgg16/$NAME}"
readonly MD5="${NST_WEIGHTS_MD5:-6d6bbae143d832006294945121d1f1fc}"

usage() {
  cat <<EOF
Usage: ${0##*/} [--force] [PATH]

Downloads the official Keras VGG16 weights ($NAME,
$SIZE bytes) with curl or wget, verifies MD5 $MD5,
and installs the file at PATH, by default where nst looks for it:
  \${XDG_CACHE_HOME:-\$HOME/.cache}/nst/$NAME

A file already at PATH with the right checksum is kept (use --force to
download again); one with a wrong checksum is replaced. Nothing is written
to PATH unless the download is complete and its checksum matches.

Options:
  -f, --force  download even if PATH already holds the verified file
  -h, --help   show this help

Environment (for testing or mirrors):
  NST_WEIGHTS_URL  download from this URL instead (curl accepts file://)
  NST_WEIGHTS_MD5  expect this MD5 instead
EOF
}

die() {
  echo "fetch_vgg16: error: $*" >&2
  exit 1
}

# Offline, or where the download is blocked, other files people have work.
offline_hint() {
  cat >&2 <<EOF
fetch_vgg16: without the download, nst accepts these files too:
  Keras 1/2 .h5: $NAME or
    vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 (e.g. from ~/.keras/models/):
    use it as is: nst --weights FILE
  Keras 3 .weights.h5 of keras.applications.VGG16/VGG19 (include_top=False or not):
    use it as is: nst --weights FILE
  torchvision's vgg16-397923af.pth or vgg19-dcbb9e9d.pth (e.g. from ~/.cache/torch/hub/checkpoints/):
    convert it once: nst-weights import FILE OUT.h5, then nst --weights OUT.h5
  (nst-weights import also rewrites any of the Keras files in the official layout.)
EOF
}

# die, with the offline hint first: for a download that did not happen.
die_offline() {
  offline_hint
  die "$@"
}

md5_of() {
  if command -v md5sum >/dev/null 2>&1; then
    md5sum "$1" | cut -d' ' -f1
  elif command -v md5 >/dev/null 2>&1; then  # macOS
    md5 -q "$1"
  else
    die "neither md5sum nor md5 is installed; cannot verify the download"
  fi
}

download() {  # URL FILE
  if command -v curl >/dev/null 2>&1; then
    curl --fail --location --show-error --progress-bar --output "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget --output-document="$2" "$1"
  else
    die_offline "neither curl nor wget is installed; install one, or download $1 by hand and pass its path to nst --weights"
  fi
}

main() {
  local force=0 dest=""
  while [ $# -gt 0 ]; do
    case "$1" in
      -h | --help) usage; exit 0 ;;
      -f | --force) force=1 ;;
      -*) echo "fetch_vgg16: unknown option '$1' (see --help)" >&2; exit 2 ;;
      *)
        [ -z "$dest" ] || { echo "fetch_vgg16: expected one PATH, got '$dest' and '$1'" >&2; exit 2; }
        dest="$1" ;;
    esac
    shift
  done
  if [ -z "$dest" ]; then
    [ -n "${XDG_CACHE_HOME:-}" ] || [ -n "${HOME:-}" ] || die "neither XDG_CACHE_HOME nor HOME is set; pass a PATH"
    dest="${XDG_CACHE_HOME:-$HOME/.cache}/nst/$NAME"
  fi

  if [ -f "$dest" ] && [ "$force" = 0 ]; then
    if [ "$(md5_of "$dest")" = "$MD5" ]; then
      echo "fetch_vgg16: $dest is already present and verified (MD5 $MD5)"
      exit 0
    fi
    echo "fetch_vgg16: $dest exists but its MD5 is wrong; downloading it again"
  fi

  local dir
  dir="$(dirname "$dest")"
  mkdir -p "$dir" || die "cannot create directory $dir"
  # Beside the destination, so that the final rename is atomic.
  tmp="$(mktemp "$dest.part.XXXXXX")" || die "cannot create a temp file in $dir"
  trap 'rm -f "$tmp"' EXIT

  echo "fetch_vgg16: downloading $URL"
  download "$URL" "$tmp" || die_offline "download of $URL failed; nothing was installed"
  local got size
  got="$(md5_of "$tmp")"
  size="$(wc -c <"$tmp" | tr -d ' ')"
  if [ "$got" != "$MD5" ]; then
    die_offline "checksum mismatch for $URL: MD5 $got ($size bytes), expected $MD5 ($SIZE bytes for the official file);" \
      "the download is incomplete or not the official file, and was not installed"
  fi
  chmod 644 "$tmp"
  mv -f "$tmp" "$dest" || die "cannot move the download into place at $dest"
  trap - EXIT
  echo "fetch_vgg16: installed $dest (MD5 $MD5 verified)"
  if [ "$dest" != "${XDG_CACHE_HOME:-${HOME:-}/.cache}/nst/$NAME" ]; then
    echo "fetch_vgg16: use it with: nst --weights $dest   (or NST_WEIGHTS=$dest)"
  fi
}

main "$@"
