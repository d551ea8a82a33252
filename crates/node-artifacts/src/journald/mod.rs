//! Parser and typed model for the systemd journal (to be filled by the journald issue).
