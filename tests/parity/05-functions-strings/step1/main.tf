variable "raw" {
  type    = string
  default = "  Hello, World  "
}

variable "csv" {
  type    = string
  default = "alpha,beta,gamma"
}

variable "nickname" {
  type    = string
  default = null
}

locals {
  trimmed  = trimspace(var.raw)
  parts    = split(",", var.csv)
  items    = formatlist("item-%s", local.parts)
  pairs    = formatlist("%d:%s", range(length(local.parts)), local.parts)
  joined   = join("+", [for p in local.parts : upper(p)])
  slug     = lower(replace(local.trimmed, "/[^A-Za-z0-9]+/", "-"))
  greeting = replace(local.trimmed, "World", "There")
  head     = substr(local.trimmed, 0, 5)
  tail     = substr(local.trimmed, -5, -1)
  version  = regex("v([0-9]+)\\.([0-9]+)", "release v12.7")
  named    = regex("(?P<major>[0-9]+)\\.(?P<minor>[0-9]+)", "tag 3.14")
  label    = format("%s has %d parts, %.2f%% done, %q, %t, [%-6s] [%5s]", var.csv, length(local.parts), 12.5, "quoted", true, "ab", "cd")
  numbers  = [tostring(42), tostring(true), tostring("x")]
  name     = coalesce(var.nickname, "", "anonymous")
}

resource "terraform_data" "text" {
  input = {
    slug   = local.slug
    joined = local.joined
    label  = local.label
  }
}

output "text" {
  value = terraform_data.text.output
}

output "strings" {
  value = {
    trimmed  = local.trimmed
    items    = local.items
    pairs    = local.pairs
    greeting = local.greeting
    head     = local.head
    tail     = local.tail
    name     = local.name
    numbers  = local.numbers
  }
}

output "version" {
  value = local.version
}

output "named" {
  value = local.named
}
