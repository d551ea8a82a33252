//! Controlled execution on EKS worker nodes through AWS Systems Manager.
//!
//! This crate is empty until the SSM execution issue lands. It will resolve
//! nodes through EC2, check SSM reachability, and run only the commands of a
//! fixed, versioned SSM document whose parameters are allow-listed: a caller
//! chooses an artifact from a closed list and never writes any part of a
//! command line. It is the only crate of the workspace that talks to AWS.
