terraform {
  required_providers {
    openstack = {
      source  = "terraform-provider-openstack/openstack"
      version = "~> 3.0"
    }
  }
}

variable "servers" {
  type = map(object({
    flavor = string
    network = string
  }))
  default = {
    web = { flavor = "m1.small", network = "front" }
    db = { flavor = "m1.large", network = "back" }
  }
}

resource "openstack_compute_instance_v2" "server" {
  for_each = var.servers
  name = each.key
  flavor_name = each.value.flavor
  image_id = data.openstack_images_image_v2.ubuntu.id
  security_groups = ["default"]
  metadata = {
    role = each.key
  }
  network {
    name = each.value.network
  }
  depends_on = [openstack_networking_subnet_v2.front, openstack_networking_subnet_v2.back]
}
