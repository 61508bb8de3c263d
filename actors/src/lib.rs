//! Actors of one agent session, and the config and policy logic they share.
