locals {
  zones = toset(split(",", "zone-c,zone-d,zone-a"))
}

resource "terraform_data" "zone" {
  for_each = local.zones
  input = {
    key   = each.key
    upper = upper(each.value)
    same  = each.key == each.value
  }
}

output "zones" {
  value = local.zones
}

output "uppers" {
  value = [for z in terraform_data.zone : z.output.upper]
}

output "by_key" {
  value = { for k, z in terraform_data.zone : k => z.output.same }
}
