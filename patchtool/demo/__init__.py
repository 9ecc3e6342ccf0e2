"""The demo command and the mini QEMU world it runs on. Imports everything below the CLI."""
