"""Every side effect of a sequence. Workflows import only `activities.contracts` and the class names."""
