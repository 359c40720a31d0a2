// Placeholder translation unit until the module has sources.
typedef int ingot_convert_placeholder_;
