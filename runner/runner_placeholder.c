// Placeholder translation unit until the module has sources.
typedef int ingot_runner_placeholder_;
