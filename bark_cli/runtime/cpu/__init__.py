"""CPU forms of the networks: prepacked bf16 and int8 linears, native decode kernels, memory residency."""
