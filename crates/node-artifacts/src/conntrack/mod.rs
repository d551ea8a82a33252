//! Parser and typed model for conntrack flow tables and statistics (to be filled by the conntrack issue).
