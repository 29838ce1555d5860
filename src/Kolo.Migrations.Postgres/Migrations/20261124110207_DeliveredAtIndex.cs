using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Kolo.Migrations.Postgres.Migrations
{
    /// <inheritdoc />
    public partial class DeliveredAtIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "IX_orders_Status_DeliveredAt",
                table: "orders",
                columns: new[] { "Status", "DeliveredAt" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_orders_Status_DeliveredAt",
                table: "orders");
        }
    }
}
