"""What neither organisation can slip past the other: the secret scan, the commit policy, the server hook and the audit."""
