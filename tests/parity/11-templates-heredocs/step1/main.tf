variable "items" {
  type    = list(string)
  default = ["alpha", "beta", "gamma"]
}

variable "show_header" {
  type    = bool
  default = true
}

locals {
  inline  = "%{if var.show_header}Header: ${length(var.items)} items%{else}No header%{endif}"
  listing = "%{for i, x in var.items}${i}=${x}%{if i < length(var.items) - 1}, %{endif}%{endfor}"
  escapes = "literal $${not_interp} and %%{not_directive}, tab\there, quote \" and backslash \\"

  report = <<EOT
Items:
%{for x in var.items~}
  - ${x}
%{endfor~}
Done.
EOT

  indented = <<-EOT
    first line
      indented more
    last line
  EOT

  stripped = <<-EOT
    %{~if var.show_header~}
    [header]
    %{~endif~}
    body   ${~" tail"}
    EOT
}

resource "terraform_data" "doc" {
  input = local.report
}

output "inline" {
  value = local.inline
}

output "listing" {
  value = local.listing
}

output "escapes" {
  value = local.escapes
}

output "report" {
  value = terraform_data.doc.output
}

output "heredocs" {
  value = [local.indented, local.stripped]
}
