//! Parser and typed model for kernel messages (to be filled by the dmesg issue).
