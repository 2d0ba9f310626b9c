#!/usr/bin/env bash
# Build the one-folder desktop bundle dist/nepocr/ with PyInstaller (build.spec), then print its
# size on disk, the size of a compressed archive of it and the build time.
#
#   tools/build_bundle.sh [--clean] [--archive xz|zip|none] [--check] [--record]
#
#   --clean       discard PyInstaller's cache (build/pyinstaller) first
#   --archive     dist/nepocr-<os>-<arch>.tar.xz (default), .zip, or no archive
#   --check       afterwards run `dist/nepocr/nepocr recognize` on a sample and `--self-test`
#   --record      write the figures to the "Bundle" section of benchmarks/RESULTS.md
#
# Needs: pip install -e ".[bundle]". The model shipped is model/nepocr.pt, or the file named by
# NEPOCR_BUNDLE_MODEL. The last lines printed are "key: value" figures, e.g. "build_seconds: 212"
# (sizes in MiB, as `du -sh` shows them).
set -euo pipefail
cd "$(dirname "$0")/.."

archive=xz
clean=()
check=0
record=0
command="tools/build_bundle.sh $*"
if [ -n "${NEPOCR_BUNDLE_MODEL:-}" ]; then command="NEPOCR_BUNDLE_MODEL=$NEPOCR_BUNDLE_MODEL $command"; fi
while [ $# -gt 0 ]; do
    case "$1" in
        --clean) clean=(--clean) ;;
        --archive) archive="${2:?--archive needs xz, zip or none}"; shift ;;
        --check) check=1 ;;
        --record) record=1 ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build_bundle.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
case "$archive" in xz|zip|none) ;; *) echo "build_bundle.sh: --archive must be xz, zip or none" >&2; exit 2 ;; esac

python -c "import PyInstaller" 2>/dev/null || {
    echo "build_bundle.sh: PyInstaller is not installed (pip install -e '.[bundle]')" >&2; exit 1; }

start=$(date +%s.%N)
python -m PyInstaller --noconfirm "${clean[@]}" --log-level WARN \
    --distpath dist --workpath build/pyinstaller build.spec
build_seconds=$(python -c "import time; print(round(time.time() - $start, 1))")

bundle=dist/nepocr
exe="$bundle/nepocr"
[ -x "$exe" ] || exe="$bundle/nepocr.exe"
[ -x "$exe" ] || { echo "build_bundle.sh: no executable in $bundle" >&2; exit 1; }

size_bytes=$(du -sb "$bundle" | cut -f1)
echo
echo "largest parts of $bundle/_internal:"
du -sh "$bundle"/_internal/* | sort -h | tail -8

os_arch="$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m)"
archive_path=""
archive_bytes=0
archive_seconds=0
if [ "$archive" != none ]; then
    a_start=$(date +%s.%N)
    if [ "$archive" = xz ]; then
        archive_path="dist/nepocr-$os_arch.tar.xz"
        tar -C dist -cf - nepocr | xz -6 -T0 > "$archive_path"
    else
        archive_path="dist/nepocr-$os_arch.zip"
        rm -f "$archive_path"
        (cd dist && python -m zipfile -c "nepocr-$os_arch.zip" nepocr)
    fi
    archive_seconds=$(python -c "import time; print(round(time.time() - $a_start, 1))")
    archive_bytes=$(stat -c %s "$archive_path" 2>/dev/null || stat -f %z "$archive_path")
fi

if [ "$check" = 1 ]; then
    sample=$(ls resources/samples/*.png resources/samples/*.jpg 2>/dev/null | head -1 || true)
    if [ -n "$sample" ]; then
        echo "recognize $sample: $("$exe" recognize "$sample")"
    fi
    QT_QPA_PLATFORM=offscreen "$exe" --self-test
fi

mib() { python -c "print(f'{$1 / 2**20:.1f}')"; }
echo
echo "bundle: $bundle"
echo "build_seconds: $build_seconds"
echo "size_on_disk_mib: $(mib "$size_bytes")"
if [ -n "$archive_path" ]; then
    echo "archive: $archive_path"
    echo "archive_mib: $(mib "$archive_bytes")"
    echo "archive_seconds: $archive_seconds"
fi

if [ "$record" = 1 ]; then
    python benchmarks/common.py record-bundle --build-seconds "$build_seconds" \
        --size-mib "$(mib "$size_bytes")" --archive "$archive_path" --archive-mib "$(mib "$archive_bytes")" \
        --archive-seconds "$archive_seconds" --command "$command" > /dev/null
    echo "recorded in benchmarks/RESULTS.md"
fi
