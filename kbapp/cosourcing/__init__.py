"""Working with the partner: the responsibility matrix, handovers, onboarding paths and ticket links."""
