//! corten-elf: to be written.
