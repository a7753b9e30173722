"""Where the networks run: the lean GPT, loading a checkpoint onto a device, and CPU fast paths (cpu/)."""
