using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Kolo.Migrations.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class PartialIndexesForSparseColumns : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_orders_OwnerId_OrderedAt",
                table: "orders");

            migrationBuilder.DropIndex(
                name: "IX_orders_ReturnOfOrderId",
                table: "orders");

            migrationBuilder.DropIndex(
                name: "IX_orders_Status_DeliveredAt",
                table: "orders");

            migrationBuilder.DropIndex(
                name: "IX_orders_Status_PromisedDeliveryDate",
                table: "orders");

            migrationBuilder.DropIndex(
                name: "IX_customers_MergedIntoId",
                table: "customers");

            migrationBuilder.DropIndex(
                name: "IX_customers_OwnerId_SortName_Id",
                table: "customers");

            migrationBuilder.CreateIndex(
                name: "IX_orders_OwnerId_OrderedAt",
                table: "orders",
                columns: new[] { "OwnerId", "OrderedAt" },
                filter: "\"OwnerId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_orders_ReturnOfOrderId",
                table: "orders",
                column: "ReturnOfOrderId",
                filter: "\"ReturnOfOrderId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_orders_Status_DeliveredAt",
                table: "orders",
                columns: new[] { "Status", "DeliveredAt" },
                filter: "\"DeliveredAt\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_orders_Status_PromisedDeliveryDate",
                table: "orders",
                columns: new[] { "Status", "PromisedDeliveryDate" },
                filter: "\"PromisedDeliveryDate\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_customers_MergedIntoId",
                table: "customers",
                column: "MergedIntoId",
                filter: "\"MergedIntoId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_customers_OwnerId_SortName_Id",
                table: "customers",
                columns: new[] { "OwnerId", "SortName", "Id" },
                filter: "\"OwnerId\" IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_orders_OwnerId_OrderedAt",
                table: "orders");

            migrationBuilder.DropIndex(
                name: "IX_orders_ReturnOfOrderId",
                table: "orders");

            migrationBuilder.DropIndex(
                name: "IX_orders_Status_DeliveredAt",
                table: "orders");

            migrationBuilder.DropIndex(
                name: "IX_orders_Status_PromisedDeliveryDate",
                table: "orders");

            migrationBuilder.DropIndex(
                name: "IX_customers_MergedIntoId",
                table: "customers");

            migrationBuilder.DropIndex(
                name: "IX_customers_OwnerId_SortName_Id",
                table: "customers");

            migrationBuilder.CreateIndex(
                name: "IX_orders_OwnerId_OrderedAt",
                table: "orders",
                columns: new[] { "OwnerId", "OrderedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_orders_ReturnOfOrderId",
                table: "orders",
                column: "ReturnOfOrderId");

            migrationBuilder.CreateIndex(
                name: "IX_orders_Status_DeliveredAt",
                table: "orders",
                columns: new[] { "Status", "DeliveredAt" });

            migrationBuilder.CreateIndex(
                name: "IX_orders_Status_PromisedDeliveryDate",
                table: "orders",
                columns: new[] { "Status", "PromisedDeliveryDate" });

            migrationBuilder.CreateIndex(
                name: "IX_customers_MergedIntoId",
                table: "customers",
                column: "MergedIntoId");

            migrationBuilder.CreateIndex(
                name: "IX_customers_OwnerId_SortName_Id",
                table: "customers",
                columns: new[] { "OwnerId", "SortName", "Id" });
        }
    }
}
