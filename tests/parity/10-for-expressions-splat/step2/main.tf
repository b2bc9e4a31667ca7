variable "users" {
  type = list(object({
    name  = string
    team  = string
    admin = bool
  }))
  default = [
    { name = "carol", team = "ops", admin = true },
    { name = "alice", team = "dev", admin = false },
    { name = "erin", team = "ops", admin = false },
  ]
}

variable "maybe" {
  type    = object({ id = string })
  default = null
}

locals {
  admins   = [for u in var.users : upper(u.name) if u.admin]
  by_name  = { for u in var.users : u.name => u.team }
  by_team  = { for u in var.users : u.team => u.name... }
  indexed  = [for i, u in var.users : "${i}:${u.name}"]
  from_map = [for k, v in local.by_name : "${k}@${v}"]
  sizes    = { for t, members in local.by_team : t => length(members) if length(members) > 1 }
  set_for  = [for s in toset(["b", "c", "a"]) : s]
}

resource "terraform_data" "team" {
  for_each = local.by_team
  input    = join(",", each.value)
}

resource "terraform_data" "maybe" {
  count = length(var.maybe[*])
  input = var.maybe.id
}

output "comprehensions" {
  value = {
    admins   = local.admins
    by_name  = local.by_name
    by_team  = local.by_team
    indexed  = local.indexed
    from_map = local.from_map
    sizes    = local.sizes
    set_for  = local.set_for
  }
}

output "splats" {
  value = {
    teams        = var.users[*].team
    team_outputs = values(terraform_data.team)[*].output
    maybe_splat  = var.maybe[*]
    maybe_ids    = terraform_data.maybe[*].output
    single       = { id = "x" }[*].id
  }
}

output "members" {
  value = { for k, t in terraform_data.team : k => split(",", t.output) }
}
