resource "x" "y" {
	name	=	"tabbed"
	nested {
		value = 1
	}
}
