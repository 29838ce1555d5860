using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Kolo.Migrations.Postgres.Migrations
{
    /// <summary>
    /// Drops the foreign-key constraints of the two largest tables (order lines → orders and products, search terms →
    /// customers); the EF model keeps the relationships. Each constraint made PostgreSQL look up and lock the parent row
    /// for every inserted line or term — about a third of an import's time at 10 million lines. Kolo writes these rows
    /// only together with (or after) their parents and never deletes customers, orders or products (deletes archive), so
    /// the constraints guarded nothing the code does not. SQLite keeps them: its checks are in-process index probes and
    /// cost an import nothing measurable.
    /// </summary>
    public partial class UnenforcedHighVolumeForeignKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(name: "FK_order_lines_orders_OrderId", table: "order_lines");
            migrationBuilder.DropForeignKey(name: "FK_order_lines_products_ProductId", table: "order_lines");
            migrationBuilder.DropForeignKey(name: "FK_customer_search_terms_customers_CustomerId", table: "customer_search_terms");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddForeignKey(name: "FK_order_lines_orders_OrderId", table: "order_lines", column: "OrderId",
                principalTable: "orders", principalColumn: "Id", onDelete: ReferentialAction.Cascade);
            migrationBuilder.AddForeignKey(name: "FK_order_lines_products_ProductId", table: "order_lines", column: "ProductId",
                principalTable: "products", principalColumn: "Id", onDelete: ReferentialAction.Restrict);
            migrationBuilder.AddForeignKey(name: "FK_customer_search_terms_customers_CustomerId", table: "customer_search_terms",
                column: "CustomerId", principalTable: "customers", principalColumn: "Id", onDelete: ReferentialAction.Cascade);
        }
    }
}
