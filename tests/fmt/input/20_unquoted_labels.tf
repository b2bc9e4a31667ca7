resource openstack_networking_network_v2 net {
  name = "net"
}
data openstack_images_image_v2 "img" {
  name = "cirros"
}
