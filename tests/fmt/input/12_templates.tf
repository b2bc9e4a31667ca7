locals {
  greeting = "Hello, ${ var.name }!"
  plain = "${var.name}"
  two = "${var.a}${var.b}"
  directive = "%{ if var.enabled }on%{ else }off%{ endif }"
  escaped = "$${not_interpolated} %%{not_a_directive}"
  nested = "${join(",", [for s in var.xs : "${s}"])}"
}
