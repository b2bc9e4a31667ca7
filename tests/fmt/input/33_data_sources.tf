data "openstack_images_image_v2" "ubuntu" {
  name_regex = "^ubuntu-22\\.04"
  most_recent = true
  properties = {
    os_distro = "ubuntu"
  }
}

data "openstack_compute_flavor_v2" "small" {
  vcpus = 1
  ram = 512
}
