#!/bin/sh
# Bootstrap the build system from a git checkout.
exec autoreconf -fi "$@"
