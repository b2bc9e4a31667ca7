# Two tiers on two networks: web servers on a public-facing network and
# application servers on a private one, one server per entry of a map,
# built from an image and a flavor that already exist, looked up with data
# sources. It shares the quickstart's embedded devcloud and boots from the
# image the quickstart uploads, so apply that first:
#
#   stackform -chdir=examples/quickstart apply -auto-approve
#   stackform -chdir=examples/multi-tier apply -auto-approve
#
# Against a real cloud, set auth_url (or OS_CLOUD), var.image_name and
# var.flavor_name.

provider "openstack" {
  auth_url = "devcloud://../quickstart/.stackform/devcloud"
}

variable "image_name" {
  description = "An existing image to boot from."
  type        = string
  default     = "quickstart-cirros"
}

variable "flavor_name" {
  description = "An existing flavor to boot with."
  type        = string
  default     = "m1.tiny"
}

variable "servers" {
  description = "Servers by name, with the tier each belongs to."
  type        = map(string)
  default = {
    web-1 = "web"
    web-2 = "web"
    app-1 = "app"
  }

  validation {
    condition     = alltrue([for tier in values(var.servers) : contains(["web", "app"], tier)])
    error_message = "Each server's tier must be web or app."
  }
}

locals {
  tiers = {
    web = "10.20.1.0/24"
    app = "10.20.2.0/24"
  }
}

data "openstack_images_image_v2" "base" {
  name        = var.image_name
  most_recent = true
}

data "openstack_compute_flavor_v2" "tiny" {
  name = var.flavor_name
}

resource "openstack_networking_network_v2" "tier" {
  for_each = local.tiers
  name     = "multi-tier-${each.key}"
}

resource "openstack_networking_subnet_v2" "tier" {
  for_each   = local.tiers
  name       = "multi-tier-${each.key}"
  network_id = openstack_networking_network_v2.tier[each.key].id
  cidr       = each.value
}

resource "openstack_compute_instance_v2" "server" {
  for_each  = var.servers
  name      = each.key
  image_id  = data.openstack_images_image_v2.base.id
  flavor_id = data.openstack_compute_flavor_v2.tiny.id
  metadata = {
    tier = each.value
  }

  network {
    uuid = openstack_networking_network_v2.tier[each.value].id
  }

  depends_on = [openstack_networking_subnet_v2.tier]
}

output "addresses" {
  value = { for name, s in openstack_compute_instance_v2.server : name => s.network[0].fixed_ip_v4 }
}
