// Placeholder translation unit until the module has sources.
typedef int ingot_verify_placeholder_;
