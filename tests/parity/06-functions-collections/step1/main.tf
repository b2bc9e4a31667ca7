variable "base_tags" {
  type    = map(string)
  default = { team = "core", env = "dev" }
}

variable "extra_tags" {
  type    = map(string)
  default = { env = "staging", owner = "ops" }
}

locals {
  tags      = merge(var.base_tags, var.extra_tags, { managed = "stackform" })
  tier      = lookup(local.tags, "tier", "standard")
  env       = lookup(local.tags, "env", "none")
  letters   = concat(["a", "b"], ["c"], [])
  flat      = flatten([["x", ["y"]], [], "z", [["w"]]])
  picked    = [element(local.letters, 1), element(local.letters, 4)]
  has_owner = contains(keys(local.tags), "owner")
  uniq      = distinct(["b", "a", "b", "c", "a"])
  ranges    = [range(3), range(1, 10, 3), range(5, 0, -2)]
  as_set    = toset(["b", "a", "b"])
  as_list   = tolist(toset(["b", "a"]))
  as_map    = tomap({ a = 1, b = "2" })
}

resource "terraform_data" "tag" {
  for_each = local.tags
  input    = "${each.key}=${each.value}"
}

output "tags" {
  value = local.tags
}

output "tag_inputs" {
  value = values(terraform_data.tag)[*].output
}

output "facts" {
  value = {
    tier      = local.tier
    env       = local.env
    count     = length(local.tags)
    has_owner = local.has_owner
    keys      = keys(local.tags)
    values    = values(local.tags)
  }
}

output "lists" {
  value = [local.letters, local.flat, local.picked, local.uniq]
}

output "ranges" {
  value = local.ranges
}

output "converted" {
  value = { set = local.as_set, list = local.as_list, map = local.as_map }
}
