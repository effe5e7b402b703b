"""What is measured: the PMM as versioned data (model, loader, formula language, criteria, diff)."""
